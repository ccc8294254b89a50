from recomind.cli import main

main()
