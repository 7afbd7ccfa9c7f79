from symgen.cli import main

raise SystemExit(main())
