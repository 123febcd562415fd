"""`python -m tradehall.cli`."""

from tradehall.cli import main

if __name__ == "__main__":
    main()
