using System.Text.Json;
using CCHC.Stats.Api.Hosting;
using Npgsql;

namespace CCHC.Stats.Api.Counters;

/// <summary>
/// A baseline as it stands: recorded, and perhaps withdrawn since. <see cref="CountsAt"/> is the baseline rule, written once.
/// </summary>
public sealed record StandingBaseline(long Sequence, BaselineRecorded Baseline, BaselineWithdrawn? Withdrawal)
{
    /// <summary>
    /// A baseline counts for a moment at or after its own <c>asOf</c>, until the moment it was withdrawn, in the periods of
    /// each kind that contain its <c>asOf</c> (all time for the total).
    /// </summary>
    public bool CountsAt(DateTimeOffset moment) => Baseline.AsOf <= moment && !(Withdrawal?.WithdrawnAt <= moment);

    /// <summary>Whether it counts for the period of <paramref name="kind"/> keyed <paramref name="key"/>.</summary>
    public bool IsIn(PeriodKind kind, string key) => new PeriodKeys(Baseline.Day).Key(kind) == key;
}

/// <summary>Reads a site's baselines and their withdrawals (an index serves it: <see cref="MartenTables.BaselineIndex"/>).</summary>
public sealed class SiteBaselines(MartenTables tables, NpgsqlDataSource database)
{
    /// <summary>The statement, to run alone or in a batch with others (<see cref="CountersAsOf"/>); read it with <see cref="ReadAsync"/>.</summary>
    public NpgsqlBatchCommand Command(string siteId) => tables.SiteBaselinesCommand(siteId);

    public async Task<IReadOnlyList<StandingBaseline>> OfSiteAsync(string siteId, CancellationToken ct)
    {
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(Command(siteId));
        await using var reader = await batch.ExecuteReaderAsync(ct);
        return await ReadAsync(reader, ct);
    }

    public static async Task<IReadOnlyList<StandingBaseline>> ReadAsync(NpgsqlDataReader reader, CancellationToken ct)
    {
        var recorded = new List<(long Sequence, BaselineRecorded Baseline)>();
        var withdrawals = new Dictionary<long, BaselineWithdrawn>();
        while (await reader.ReadAsync(ct))
        {
            if (reader.GetString(1) == "baseline_recorded")
            {
                recorded.Add((reader.GetInt64(0), JsonSerializer.Deserialize<BaselineRecorded>(reader.GetString(2), StoredJson.Options)!));
            }
            else
            {
                var withdrawal = JsonSerializer.Deserialize<BaselineWithdrawn>(reader.GetString(2), StoredJson.Options)!;
                withdrawals.TryAdd(withdrawal.BaselineSequence, withdrawal);
            }
        }

        return recorded.Select(r => new StandingBaseline(r.Sequence, r.Baseline, withdrawals.GetValueOrDefault(r.Sequence))).ToList();
    }
}
