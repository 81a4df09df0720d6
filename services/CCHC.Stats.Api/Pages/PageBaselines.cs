using CCHC.Stats.Api.Hosting;
using Npgsql;

namespace CCHC.Stats.Api.Pages;

/// <summary>
/// Reads the baselines of a site's pages (<see cref="PageBaselineRecorded"/>) from the history, through their index
/// (<see cref="MartenTables.PageBaselineIndex"/>). SQL here selects rows; which count at a moment is
/// <see cref="CountsAt"/>'s to say.
/// </summary>
public sealed class PageBaselines(MartenTables tables, NpgsqlDataSource database)
{
    /// <summary>The page baseline rule: it counts in its page's all-time figure for a moment at or after its own <c>asOf</c>.</summary>
    public static bool CountsAt(DateTimeOffset baselineAsOf, DateTimeOffset moment) => baselineAsOf <= moment;

    /// <summary>The statement for the baselines of a site's pages (or of one): page, <c>asOf</c>, page views. Read it with <see cref="ReadSumsAsync"/>.</summary>
    public NpgsqlBatchCommand Command(string siteId, string? page) => tables.PageBaselinesCommand(siteId, page);

    /// <summary>The statement for the sequence of the site's newest page baseline (one <c>bigint</c>, 0 when none).</summary>
    public NpgsqlBatchCommand NewestCommand(string siteId) => tables.NewestPageBaselineCommand(siteId);

    /// <summary>Each page's baselines that count at <paramref name="moment"/>, added up.</summary>
    public static async Task<Dictionary<string, long>> ReadSumsAsync(NpgsqlDataReader reader, DateTimeOffset moment, CancellationToken ct)
    {
        var sums = new Dictionary<string, long>(StringComparer.Ordinal);
        while (await reader.ReadAsync(ct))
        {
            if (CountsAt(reader.GetFieldValue<DateTimeOffset>(1), moment))
            {
                var page = reader.GetString(0);
                sums[page] = checked(sums.GetValueOrDefault(page) + reader.GetInt64(2));
            }
        }

        return sums;
    }

    /// <summary>Each of a site's pages' baselines that count at <paramref name="moment"/>, added up.</summary>
    public async Task<Dictionary<string, long>> SumsAsync(string siteId, DateTimeOffset moment, CancellationToken ct)
    {
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(Command(siteId, null));
        await using var reader = await batch.ExecuteReaderAsync(ct);
        return await ReadSumsAsync(reader, moment, ct);
    }

    /// <summary>What all of a site's page baselines add up to (the bound a new one is checked against).</summary>
    public async Task<long> TotalAsync(string siteId, CancellationToken ct)
    {
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(tables.PageBaselinesTotalCommand(siteId));
        return (long)(await batch.ExecuteScalarAsync(ct))!;
    }
}
