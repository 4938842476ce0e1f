from branching.cli import main

# Guarded: worker processes (``simulate --workers``) may import this module by name.
if __name__ == "__main__":
    main()
