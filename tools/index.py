from strataml.cli import index_main

raise SystemExit(index_main())
