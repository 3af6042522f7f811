"""The vocabulary every room speaks, data only: ids, phases, records and history, observed facts."""
