"""``python -m landkit.cli``."""
from . import main

main()
