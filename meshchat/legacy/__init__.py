"""The bridge to legacy MeshChat 1.02 nodes (Perl 1.02, Lua 2.x): LEGACY.md, to the byte."""
