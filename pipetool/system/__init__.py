"""Layer 0: processes and signals: stage process groups that die with pipetool, Ctrl-C and SIGTERM,
the repository lock.
"""
