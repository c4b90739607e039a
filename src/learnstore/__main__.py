"""`python -m learnstore`: the same command as the `learnstore` console script."""

from learnstore.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
