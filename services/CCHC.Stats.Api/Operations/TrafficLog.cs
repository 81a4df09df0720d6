using System.Collections.Concurrent;
using CCHC.Stats.Api.Hosting;
using Marten;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace CCHC.Stats.Api.Operations;

/// <summary>
/// Views accepted and refused, by site, reason and minute, kept in the database so that every node's dashboard shows the
/// whole deployment's (<see cref="Dashboard"/>), not what one node saw since it started. Each node adds up its own in
/// memory and adds them to the table every <see cref="StatsOptions.TrafficFlushInterval"/> with one statement (and once
/// more when it stops); a flush that fails keeps its figures for the next. Rows older than <see cref="Keep"/> are deleted.
/// What a node had not flushed when it crashed is lost to the dashboard only: the counters count the views themselves.
/// </summary>
public sealed class TrafficLog(IDocumentStore store, NpgsqlDataSource database, TimeProvider clock, IOptions<StatsOptions> options, ILogger<TrafficLog> logger)
    : BackgroundService
{
    public const string Table = "cchc_traffic";

    /// <summary>The reason the accepted views are kept under.</summary>
    public const string Accepted = "accepted";

    /// <summary>The site refused views for an unknown site are kept under: one row, whatever ids senders make up.</summary>
    public const string UnknownSite = "";

    public static readonly TimeSpan Keep = TimeSpan.FromDays(7);

    private ConcurrentDictionary<(DateTimeOffset Minute, string Site, string Reason), long> _pending = new();

    private string Qualified => $"{store.Options.DatabaseSchemaName}.{Table}";

    public static string CreateSql(string schema) =>
        $"""
        CREATE TABLE IF NOT EXISTS {schema}.{Table} (
            minute timestamptz NOT NULL,
            scope varchar NOT NULL,
            reason varchar NOT NULL,
            views bigint NOT NULL,
            PRIMARY KEY (minute, scope, reason));
        """;

    public void Add(string siteId, string reason, long count)
    {
        var site = reason == RefusalReason.UnknownSite ? UnknownSite : siteId;
        _pending.AddOrUpdate((MinuteOf(clock.GetUtcNow()), site, reason), static (_, added) => added, static (_, n, added) => n + added, count);
    }

    /// <summary>Adds what this node counted since the last flush to the table.</summary>
    public async Task FlushAsync(CancellationToken ct)
    {
        var taken = Interlocked.Exchange(ref _pending, new());
        if (taken.IsEmpty)
        {
            return;
        }

        var rows = taken.OrderBy(r => r.Key).ToList();
        try
        {
            await using var batch = database.CreateBatch();
            var upsert = new NpgsqlBatchCommand(
                $"""
                INSERT INTO {Qualified} AS t (minute, scope, reason, views)
                SELECT * FROM unnest($1::timestamptz[], $2::varchar[], $3::varchar[], $4::bigint[])
                ON CONFLICT (minute, scope, reason) DO UPDATE SET views = t.views + excluded.views
                """);
            upsert.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Key.Minute).ToArray() });
            upsert.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Key.Site).ToArray() });
            upsert.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Key.Reason).ToArray() });
            upsert.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Value).ToArray() });
            batch.BatchCommands.Add(upsert);
            var prune = new NpgsqlBatchCommand($"DELETE FROM {Qualified} WHERE minute < $1");
            prune.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = MinuteOf(clock.GetUtcNow() - Keep) });
            batch.BatchCommands.Add(prune);
            await batch.ExecuteNonQueryAsync(ct);
        }
        catch
        {
            foreach (var (key, count) in rows)
            {
                _pending.AddOrUpdate(key, count, (_, n) => n + count);
            }

            throw;
        }
    }

    /// <summary>The deployment's traffic since <paramref name="since"/>: accepted views per minute, and views by site and reason.</summary>
    public async Task<Traffic> ReadAsync(DateTimeOffset since, CancellationToken ct)
    {
        await using var batch = database.CreateBatch();
        var perMinute = new NpgsqlBatchCommand($"SELECT minute, sum(views)::bigint FROM {Qualified} WHERE minute >= $1 AND reason = '{Accepted}' GROUP BY minute");
        perMinute.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = MinuteOf(since) });
        var bySite = new NpgsqlBatchCommand($"SELECT scope, reason, sum(views)::bigint FROM {Qualified} WHERE minute >= $1 GROUP BY scope, reason");
        bySite.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = MinuteOf(since) });
        batch.BatchCommands.Add(perMinute);
        batch.BatchCommands.Add(bySite);
        await using var reader = await batch.ExecuteReaderAsync(ct);
        var minutes = new Dictionary<DateTimeOffset, long>();
        while (await reader.ReadAsync(ct))
        {
            minutes[reader.GetFieldValue<DateTimeOffset>(0)] = reader.GetInt64(1);
        }

        await reader.NextResultAsync(ct);
        var sites = new Dictionary<(string Site, string Reason), long>();
        while (await reader.ReadAsync(ct))
        {
            sites[(reader.GetString(0), reader.GetString(1))] = reader.GetInt64(2);
        }

        return new Traffic(minutes, sites);
    }

    /// <summary>What <see cref="ReadAsync"/> answers.</summary>
    public sealed record Traffic(IReadOnlyDictionary<DateTimeOffset, long> AcceptedPerMinute, IReadOnlyDictionary<(string Site, string Reason), long> BySite);

    public static DateTimeOffset MinuteOf(DateTimeOffset at) => new(at.UtcTicks - at.UtcTicks % TimeSpan.TicksPerMinute, TimeSpan.Zero);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.TrafficFlushInterval, clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await FlushAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Could not record the traffic of the last seconds; will add it at the next flush");
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await FlushAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning(e, "Could not record the traffic of the last seconds before stopping");
        }
    }
}
