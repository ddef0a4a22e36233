"""`python -m bot`: see bot/runtime/cli.py."""

from bot.runtime.cli import main

if __name__ == "__main__":
    main()
