from user_service.cli import main

if __name__ == "__main__":  # not when multiprocessing re-imports it in a server process
    raise SystemExit(main())
