"""The town office's console, served by the ledger at /console/ (ledger.console.web)."""

MOUNT_PATH = "/console"
