using CCHC.Stats.Api.Hosting;
using DotNet.Testcontainers.Builders;
using Npgsql;
using Testcontainers.PostgreSql;

namespace CCHC.Stats.IntegrationTests.Infrastructure;

/// <summary>
/// The PostgreSQL server the tests run against, found in this order: <c>CCHC_TEST_POSTGRES</c> (a connection
/// string to a server whose user may create databases), Testcontainers where a Docker engine answers, or a
/// throwaway cluster started from the machine's PostgreSQL binaries. Each user of it gets a database of its own.
/// </summary>
public sealed class TestDatabase : IAsyncLifetime
{
    private PostgreSqlContainer? _container;
    private LocalPostgres? _local;
    private string? _tempDir;

    /// <summary>
    /// The server's connections: room for the most a run opens at once. Each database's pools hold up to 60
    /// (<see cref="CreateDatabaseAsync"/>); a scale-out test runs three service processes beside the shared host and the
    /// test running in parallel, and the tests' own reads keep idle connections in their pools for minutes. At 300 a CI
    /// run once met "53300: too many clients".
    /// </summary>
    private const int MaxConnections = 600;

    /// <summary>A connection string to the server's maintenance database.</summary>
    public string ServerConnectionString { get; private set; } = "";

    public string Source { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        var configured = Environment.GetEnvironmentVariable("CCHC_TEST_POSTGRES");
        if (!string.IsNullOrEmpty(configured))
        {
            ServerConnectionString = configured;
            Source = "CCHC_TEST_POSTGRES";
            return;
        }

        try
        {
            _container = new PostgreSqlBuilder("postgres:15-alpine").WithCommand("-c", $"max_connections={MaxConnections}").Build();
            await _container.StartAsync();
            ServerConnectionString = _container.GetConnectionString();
            Source = "Testcontainers";
            return;
        }
        catch (Exception e) when (e is DockerUnavailableException or InvalidOperationException or ArgumentException)
        {
            _container = null;
        }

        _tempDir = Path.Combine(Path.GetTempPath(), $"cchc-stats-tests-{Guid.NewGuid():N}");
        _local = await LocalPostgres.StartAsync(_tempDir, maxConnections: MaxConnections);
        ServerConnectionString = new NpgsqlConnectionStringBuilder(_local.ConnectionString) { Database = "postgres" }.ConnectionString;
        Source = $"local cluster on port {_local.Port}";
    }

    /// <summary>Creates an empty database and answers a connection string to it.</summary>
    /// <param name="icuLocale">
    /// A collation for the database's text other than the server's (<c>en-US</c>: what a managed PostgreSQL is often
    /// given), by ICU, which every PostgreSQL build here has.
    /// </param>
    public async Task<string> CreateDatabaseAsync(string prefix, string? icuLocale = null)
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 33, 63)];
        await using var connection = new NpgsqlConnection(ServerConnectionString);
        await connection.OpenAsync();
        var collation = icuLocale is null ? "" : $" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '{icuLocale}' LOCALE 'C'";
        await using var create = new NpgsqlCommand($"CREATE DATABASE {name}{collation}", connection);
        await create.ExecuteNonQueryAsync();
        return new NpgsqlConnectionStringBuilder(ServerConnectionString) { Database = name, MaxPoolSize = 60 }.ConnectionString;
    }

    /// <summary>Stops the server (to test an outage); only for the local cluster.</summary>
    public LocalPostgres? LocalCluster => _local;

    public async ValueTask DisposeAsync()
    {
        if (_container is not null)
        {
            await _container.DisposeAsync();
        }

        if (_local is not null)
        {
            await _local.StopAsync();
        }

        if (_tempDir is not null)
        {
            try
            {
                Directory.Delete(_tempDir, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}
