using Npgsql;

namespace CCHC.Stats.Api.Hosting;

/// <summary>
/// The version of the store's layout, kept in the database (<see cref="Table"/>, one row), so that a node of an older build
/// refuses to start on a store a newer build has upgraded: its schema step would undo what it does not know (drop an index
/// it does not name) and it would misread what it does (a view's day, from a field views no longer write).
/// <see cref="DatabaseSetup"/> reads it first, under the schema lock, and raises it once the schema step has run.
/// </summary>
/// <remarks>
/// Raise <see cref="Current"/> with any change after which a node of the build before must not run on the store, and say
/// so in the README's "Upgrading a store". Builds before the version was kept find no table and read 0; they do not
/// read it, so the README's "stop every older node first" still holds for them.
/// </remarks>
public static class StoreVersion
{
    public const string Table = "cchc_store_version";

    /// <summary>1: views without their own day, read through the site-day index by local ten minutes (v8).</summary>
    public const int Current = 1;

    /// <summary>The store's version: 0 for a new store, or one from before the version was kept.</summary>
    public static async Task<int> ReadAsync(NpgsqlConnection connection, string schema, CancellationToken ct)
    {
        await using var exists = new NpgsqlCommand($"SELECT to_regclass('{schema}.{Table}') IS NOT NULL", connection);
        if (!(bool)(await exists.ExecuteScalarAsync(ct))!)
        {
            return 0;
        }

        await using var read = new NpgsqlCommand($"SELECT coalesce(max(version), 0) FROM {schema}.{Table}", connection);
        return (int)(await read.ExecuteScalarAsync(ct))!;
    }

    /// <summary>Refuses a store that a newer build has upgraded (<see cref="ReadAsync"/>'s answer above <see cref="Current"/>).</summary>
    public static void EnsureNotNewer(int stored)
    {
        if (stored > Current)
        {
            throw new InvalidOperationException(
                $"This store was upgraded by a newer version of CCHC.Stats (store version {stored}; this node's is {Current}). " +
                "Run the newer version on it: this one would undo or misread what the newer one wrote.");
        }
    }

    /// <summary>Creates the table if it is missing and raises the stored version to <see cref="Current"/> (never lowers it).</summary>
    public static string RecordSql(string schema) =>
        $"""
        CREATE TABLE IF NOT EXISTS {schema}.{Table} (
            singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            version integer NOT NULL);
        INSERT INTO {schema}.{Table} (version) VALUES ({Current})
        ON CONFLICT (singleton) DO UPDATE SET version = greatest({schema}.{Table}.version, excluded.version);
        """;
}
