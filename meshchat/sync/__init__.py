"""Mesh sync: Negentropy reconciliation and the node-to-node API (DESIGN §5)."""
