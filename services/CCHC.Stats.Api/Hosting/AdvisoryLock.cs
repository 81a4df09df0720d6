using Npgsql;

namespace CCHC.Stats.Api.Hosting;

/// <summary>
/// A PostgreSQL session-level advisory lock: how nodes sharing one database agree that only one of them does a
/// piece of work (schema migration, day sealing, a rebuild). Held on the connection it was taken on, and
/// released with it, so a node that dies lets go.
/// </summary>
public sealed class AdvisoryLock : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private readonly long _key;

    private AdvisoryLock(NpgsqlConnection connection, long key)
    {
        _connection = connection;
        _key = key;
    }

    /// <summary>Waits for the lock.</summary>
    public static async Task<AdvisoryLock> TakeAsync(NpgsqlDataSource database, long key, CancellationToken ct)
    {
        var connection = await database.OpenConnectionAsync(ct);
        await using var take = new NpgsqlCommand($"SELECT pg_advisory_lock({key})", connection);
        await take.ExecuteNonQueryAsync(ct);
        return new AdvisoryLock(connection, key);
    }

    /// <summary>Takes the lock if no one holds it; null if someone does.</summary>
    public static async Task<AdvisoryLock?> TryTakeAsync(NpgsqlDataSource database, long key, CancellationToken ct)
    {
        var connection = await database.OpenConnectionAsync(ct);
        await using var take = new NpgsqlCommand($"SELECT pg_try_advisory_lock({key})", connection);
        if ((bool)(await take.ExecuteScalarAsync(ct))!)
        {
            return new AdvisoryLock(connection, key);
        }

        await connection.DisposeAsync();
        return null;
    }

    /// <summary>The connection holding the lock, for work done under it.</summary>
    public NpgsqlConnection Connection => _connection;

    public async ValueTask DisposeAsync()
    {
        await using (var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({_key})", _connection))
        {
            await release.ExecuteScalarAsync(CancellationToken.None);
        }

        await _connection.DisposeAsync();
    }
}
