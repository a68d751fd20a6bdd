"""Event-driven process managers: each follows the ledger's log and does one side effect."""
