from gemini_mcp.server.cli import main

raise SystemExit(main())
