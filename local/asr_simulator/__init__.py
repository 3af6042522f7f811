"""A local Azure Site Recovery that the real SDK drives over HTTP (api-version 2025-08-01).

It speaks the ARM REST shapes of the Recovery Services vault (fabrics, containers, policies,
protected items and their actions, jobs, long-running operations) on a simulator clock, and records
every mutating request in a ledger so tests can prove that no step was performed twice.
"""
