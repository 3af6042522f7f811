"""Where state is kept: the StateStore protocol, Table Storage and in-memory implementations."""
