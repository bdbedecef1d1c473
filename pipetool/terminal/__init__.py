"""Layer 6: the terminal implementations of the reporters (plain lines, the live view, the transfer
bar); the CLI chooses one.
"""
