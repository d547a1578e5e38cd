"""The I/O the pure core must not do, usable without Django: the receivers' inbox (SQLite and
flock), group commit (threads), the tile store on a filesystem (fsync, syncfs) with its
thread-safe tile cache, and the readers `verify` uses for a directory or an http(s) URL.
"""
