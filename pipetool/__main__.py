import sys

from .cli import main

code = main()
# A Ctrl-C that main() handled but that first passed through code compiled from a string (the
# methods dataclasses makes during an import) leaves Python 3.11 set to end `python -m pipetool`
# by SIGINT, not with main()'s exit code. Running a string to its end clears that mark.
exec("None")
sys.exit(code)
