using Marten;
using Npgsql;

namespace CCHC.Stats.Api.Counters;

/// <summary>
/// Where the event store's sequence and the counter projection's progress stand: the one place that knows the SQL of
/// Marten's sequence (<c>mt_events.seq_id</c>) and progress (<c>mt_event_progression</c>) tables. The newest event is the
/// highest stored sequence, not the sequence's value: a rolled-back append leaves numbers no event holds.
/// </summary>
public sealed class EventProgress(IDocumentStore store, NpgsqlDataSource database)
{
    private string Schema => store.Options.Events.DatabaseSchemaName;

    /// <summary>The statement that reads the newest stored event's sequence (0 for an empty store).</summary>
    public NpgsqlBatchCommand NewestCommand() => new($"SELECT coalesce(max(seq_id), 0) FROM {Schema}.mt_events");

    /// <summary>The statement that reads the counter projection's mark: the last sequence it applied (0 before any).</summary>
    public NpgsqlBatchCommand CountersCommand()
    {
        var command = new NpgsqlBatchCommand($"SELECT coalesce((SELECT last_seq_id FROM {Schema}.mt_event_progression WHERE name = $1), 0)");
        command.Parameters.Add(new NpgsqlParameter { Value = CounterProjection.ShardName });
        return command;
    }

    /// <summary>The statement that reads when the oldest event after <paramref name="sequence"/> was stored (none: no row).</summary>
    public NpgsqlBatchCommand StoredAfterCommand(long sequence)
    {
        var command = new NpgsqlBatchCommand($"SELECT timestamp FROM {Schema}.mt_events WHERE seq_id > $1 AND type <> 'tombstone' ORDER BY seq_id LIMIT 1");
        command.Parameters.Add(new NpgsqlParameter { Value = sequence });
        return command;
    }

    public Task<long> NewestAsync(CancellationToken ct) => ScalarAsync(NewestCommand(), ct);

    /// <summary>
    /// Sets the counter projection's mark, as the daemon keeps it: what a replay writes with each page, in the page's
    /// transaction. Parameters: <c>$1</c> the shard's name, <c>$2</c> the sequence (<see cref="SetCountersParameters"/>).
    /// </summary>
    public static string SetCountersSql(string schema) =>
        $"""
        INSERT INTO {schema}.mt_event_progression (name, last_seq_id, last_updated) VALUES ($1, $2, now())
        ON CONFLICT (name) DO UPDATE SET last_seq_id = excluded.last_seq_id, last_updated = now()
        """;

    public static NpgsqlParameter[] SetCountersParameters(long sequence) =>
        [new() { Value = CounterProjection.ShardName }, new() { Value = sequence }];

    /// <summary>
    /// In the daemon's own session: the projection's stored mark, and the last event stored before
    /// <paramref name="firstSequence"/> (what <see cref="VisitorDayCache"/> needs to trust what it holds).
    /// </summary>
    public static async Task<(long Progress, long LastBefore)> AroundAsync(IDocumentOperations operations, long firstSequence, CancellationToken ct)
    {
        var schema = operations.DocumentStore.Options.Events.DatabaseSchemaName;
        var values = await operations.QueryAsync<long>(
            $"SELECT v FROM (VALUES (1, coalesce((SELECT last_seq_id FROM {schema}.mt_event_progression WHERE name = ?), 0)), " +
            $"(2, coalesce((SELECT max(seq_id) FROM {schema}.mt_events WHERE seq_id < ?), 0))) AS x(k, v) ORDER BY k",
            ct, CounterProjection.ShardName, firstSequence);
        return (values[0], values[1]);
    }

    private async Task<long> ScalarAsync(NpgsqlBatchCommand command, CancellationToken ct)
    {
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(command);
        return (long)(await batch.ExecuteScalarAsync(ct))!;
    }
}
