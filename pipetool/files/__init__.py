"""Layer 0: durable writes and bounded reads of files, the one check of a path taken from data,
file stamps, SQLite files and pickled copies only this user's pipetool reads back. No pipeline
notions.
"""
