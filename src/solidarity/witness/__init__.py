"""A transparency-log witness (c2sp.org/tlog-witness) anyone can run: standard library,
cryptography and solidarity.core only; no Django, no database."""
