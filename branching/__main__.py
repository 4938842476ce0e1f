from branching.cli import main

main()
