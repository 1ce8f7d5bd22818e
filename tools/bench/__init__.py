"""`make bench`: the service's calls/s, p50 and p99 beside ceilings measured in the same run.

    figure        what the load generator calls            its ceiling (same run, alternating)
    getme         UserAuth.GetMe with a user's token        a bare sync gRPC echo server
    getbalance    Balance.GetBalance of that user           the same echo server
    deposit       Balance.Deposit over 500 accounts         pgbench: the deposit's SQL on 500 rows
    deposit-hot   Balance.Deposit on one account            pgbench: the same SQL on one row
    login         UserAuth.Login at BCRYPT_ROUNDS           bcrypt.checkpw on a process per core

Modules: options (BENCH_* settings), figures (names, ceilings, targets), scratch (the
database and role of the run), seed (users, accounts, tokens), deposit_sql (the SQL a
deposit sends, as a pgbench script), servers (the service and the echo server as processes
of their own), echo_server, calls (what each figure calls), load_spec + loadgen (the
grpc.aio load generator, a process of its own) + drive (running it, and py-spy), pgbench,
bcrypt_ceiling, machine (CPU of processes and of the machine, TCP connections), stats,
report (the Markdown table), hot_account (the money check), run (the rounds), cli
(`python -m tools.bench`).
"""
