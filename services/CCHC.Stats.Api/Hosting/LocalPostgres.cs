using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace CCHC.Stats.Api.Hosting;

/// <summary>
/// A PostgreSQL cluster of our own, started from the machine's binaries (<c>initdb</c>, <c>pg_ctl</c>) in a
/// local folder, on loopback only: what the run command uses when no <c>ConnectionStrings__Postgres</c> is
/// given, and what the tests fall back to where no Docker engine answers. When running as root (initdb
/// refuses to), the cluster belongs to the <c>postgres</c> user.
/// </summary>
public sealed class LocalPostgres : IAsyncDisposable
{
    public const string DatabaseName = "cchc_stats";

    private readonly string _dataDir;
    private readonly bool _asPostgresUser = Environment.UserName == "root";

    private LocalPostgres(string dataDir, int port)
    {
        _dataDir = dataDir;
        Port = port;
    }

    public int Port { get; }

    public string DataDirectory => _dataDir;

    public string ConnectionString => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = "postgres",
        Database = DatabaseName,
        MaxPoolSize = 100,
    }.ConnectionString;

    /// <summary>
    /// Initialises the cluster if the folder is new, starts it and creates the database. <paramref name="maxConnections"/>:
    /// the server's <c>max_connections</c> (a test run starts many nodes on one cluster).
    /// </summary>
    public static async Task<LocalPostgres> StartAsync(string dataDir, int? port = null, int maxConnections = 300, CancellationToken ct = default)
    {
        dataDir = Path.GetFullPath(dataDir);
        var pg = new LocalPostgres(dataDir, port ?? FreePort());
        await pg.InitAsync(ct);
        await pg.RunAsync(FindBinary("pg_ctl"), ct,
            "-D", dataDir, "-l", Path.Combine(dataDir, "server.log"), "-w", "-t", "60",
            "-o", $"-p {pg.Port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={dataDir} " +
                  $"-c max_connections={maxConnections} -c shared_buffers=256MB -c max_wal_size=2GB -c effective_io_concurrency=200 -c log_min_messages=warning",
            "start");
        await pg.CreateDatabaseAsync(ct);
        return pg;
    }

    public async Task StopAsync()
    {
        if (File.Exists(Path.Combine(_dataDir, "postmaster.pid")))
        {
            await RunAsync(FindBinary("pg_ctl"), CancellationToken.None, "-D", _dataDir, "-m", "fast", "-w", "stop");
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private async Task InitAsync(CancellationToken ct)
    {
        Directory.CreateDirectory(_dataDir);
        if (File.Exists(Path.Combine(_dataDir, "PG_VERSION")))
        {
            // A cluster left running by a killed process: stop it so it restarts on our port.
            if (File.Exists(Path.Combine(_dataDir, "postmaster.pid")))
            {
                try
                {
                    await StopAsync();
                }
                catch (InvalidOperationException)
                {
                    File.Delete(Path.Combine(_dataDir, "postmaster.pid"));
                }
            }

            return;
        }

        if (_asPostgresUser)
        {
            await RunRawAsync("chown", ct, "-R", "postgres:postgres", _dataDir);
        }

        await RunAsync(FindBinary("initdb"), ct, "-D", _dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale");
    }

    private async Task CreateDatabaseAsync(CancellationToken ct)
    {
        var admin = new NpgsqlConnectionStringBuilder(ConnectionString) { Database = "postgres", Pooling = false }.ConnectionString;
        await using var connection = new NpgsqlConnection(admin);
        await connection.OpenAsync(ct);
        await using var exists = new NpgsqlCommand($"SELECT 1 FROM pg_database WHERE datname = '{DatabaseName}'", connection);
        if (await exists.ExecuteScalarAsync(ct) is null)
        {
            await using var create = new NpgsqlCommand($"CREATE DATABASE {DatabaseName}", connection);
            await create.ExecuteNonQueryAsync(ct);
        }
    }

    private Task RunAsync(string binary, CancellationToken ct, params string[] args) =>
        _asPostgresUser ? RunRawAsync("runuser", ct, ["-u", "postgres", "--", binary, .. args]) : RunRawAsync(binary, ct, args);

    private static async Task RunRawAsync(string file, CancellationToken ct, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {await stderr}{await stdout}");
        }
    }

    private static string FindBinary(string name)
    {
        var candidates = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
            .Concat(Directory.Exists("/usr/lib/postgresql")
                ? Directory.GetDirectories("/usr/lib/postgresql").OrderDescending().Select(d => Path.Combine(d, "bin"))
                : []);
        return candidates.Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException($"'{name}' was not found: install PostgreSQL (apt-get install postgresql) or set ConnectionStrings__Postgres.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
