from deskconsole.cli import main

raise SystemExit(main())
