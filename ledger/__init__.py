"""The central ledger service: enrollment, exactly-once journal ingest, double-entry
balances, snapshots and reports. Imports `sync`, never `terminal`.
"""
