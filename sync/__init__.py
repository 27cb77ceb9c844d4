"""The contract between a terminal and the ledger.

Canonical bytes, ids, keys and signatures, the journal record and the ledger's signed head.
Both sides import this package; it imports neither of them, so the bytes a terminal signs
are made by the very function the ledger verifies with.
"""
