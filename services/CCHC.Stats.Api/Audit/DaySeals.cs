using System.Security.Cryptography;
using System.Text;
using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Sites;
using Marten;
using Npgsql;

namespace CCHC.Stats.Api.Audit;

/// <summary>
/// A site-local day was sealed: its figures, and a hash chain over its facts (views, baselines and baseline withdrawals
/// recorded for the day) in sequence order, starting from the previous sealed day's hash. Views that arrive later for the day (a batch import)
/// re-seal it with a new seal that names the one it replaces — the history is amended, never silently changed.
/// </summary>
/// <param name="SiteId">The site.</param>
/// <param name="Day">The sealed local day.</param>
/// <param name="EventCount">How many facts the chain covers.</param>
/// <param name="LastSequence">The highest sequence among them: later facts of the day are not covered.</param>
/// <param name="PageViews">Page views counted that day (baselines apart: see <paramref name="BaselinePageViews"/>).</param>
/// <param name="Visits">Visits counted that day.</param>
/// <param name="Visitors">Distinct visitors of the day.</param>
/// <param name="Hash">The chain's last hash, hex.</param>
/// <param name="PreviousHash">The hash the chain starts from: the previous sealed day's, or zeros.</param>
/// <param name="Replaces">The sequence of the seal this one replaces, for an amendment.</param>
/// <param name="SealedAt">When, in the site's local offset.</param>
/// <param name="BaselinePageViews">
/// The day figure of the baselines in force for the day at its end (recorded for a moment of it, not withdrawn by its
/// end): the day's page views as the counters showed them at midnight are <paramref name="PageViews"/> plus this.
/// </param>
/// <param name="BaselineVisits">The same for visits.</param>
public sealed record DaySealed(
    string SiteId,
    DateOnly Day,
    long EventCount,
    long LastSequence,
    long PageViews,
    long Visits,
    long Visitors,
    string Hash,
    string PreviousHash,
    long? Replaces,
    DateTimeOffset SealedAt,
    long BaselinePageViews = 0,
    long BaselineVisits = 0);

/// <summary>The seal arithmetic and the reads it needs, shared by the sealer and verify.</summary>
public sealed class DaySeals(MartenTables tables, NpgsqlDataSource database)
{
    public static readonly string Genesis = new('0', 64);

    /// <summary>The current seal of each sealed day of a site, with its sequence, ordered by day.</summary>
    public async Task<SortedDictionary<DateOnly, (long Sequence, DaySealed Seal)>> CurrentSealsAsync(string siteId, CancellationToken ct)
    {
        var seals = new SortedDictionary<DateOnly, (long, DaySealed)>();
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(tables.SealsCommand(siteId));
        await using var reader = await batch.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var seal = System.Text.Json.JsonSerializer.Deserialize<DaySealed>(reader.GetString(1), StoredJson.Options)!;
            seals[seal.Day] = (reader.GetInt64(0), seal);
        }

        return seals;
    }

    /// <summary>Every hash any seal of the site ever had (a later day's chain may start from a replaced seal).</summary>
    public async Task<HashSet<string>> AllSealHashesAsync(string siteId, CancellationToken ct)
    {
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(tables.SealHashesCommand(siteId));
        var hashes = new HashSet<string> { Genesis };
        await using var reader = await batch.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            hashes.Add(reader.GetString(0));
        }

        return hashes;
    }

    /// <summary>Per day of the site: how many facts and the highest sequence (to find days to seal or re-seal).</summary>
    public async Task<SortedDictionary<DateOnly, (long Count, long LastSequence)>> FactsPerDayAsync(string siteId, CancellationToken ct)
    {
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(tables.FactsPerDayCommand(siteId));
        var days = new SortedDictionary<DateOnly, (long, long)>();
        await using var reader = await batch.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            days[DateOnly.Parse(reader.GetString(0))] = (reader.GetInt64(1), reader.GetInt64(2));
        }

        return days;
    }

    /// <summary>
    /// The chain over a day's facts up to a sequence: h = SHA-256(h ‖ seq ‖ type ‖ data), data as PostgreSQL's
    /// canonical jsonb text, so that an auditor can recompute it from the database or the export.
    /// </summary>
    public async Task<(string Hash, long Count)> ChainAsync(string siteId, DateOnly day, string previousHash, long upToSequence, CancellationToken ct)
    {
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(tables.DayFactsCommand(siteId, day, upToSequence));
        var hash = Convert.FromHexString(previousHash);
        long count = 0;
        await using var reader = await batch.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var link = Encoding.UTF8.GetBytes($"\n{reader.GetInt64(0)}|{reader.GetString(1)}|{reader.GetString(2)}");
            hash = SHA256.HashData([.. hash, .. link]);
            count++;
        }

        return (Convert.ToHexStringLower(hash), count);
    }
}

/// <summary>
/// Seals each site-local day once it is over (plus <see cref="Grace"/> for late views), and re-seals a sealed
/// day when facts arrive for it later. One node seals at a time (a PostgreSQL advisory lock).
/// </summary>
public sealed class DaySealer(
    IDocumentStore store, NpgsqlDataSource database, DaySeals seals, SiteDirectory sites, ViewHistory history, SiteBaselines baselines, TimeProvider clock,
    IConfiguration configuration, ILogger<DaySealer> logger) : BackgroundService
{
    /// <summary>How long after local midnight a day is sealed: views still in flight at midnight arrive first.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromMinutes(10);

    private const long LockKey = 0x43434843_5345414C; // "CCHC" "SEAL"

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Stats:SealDays=false leaves sealing to other nodes (or, in the benchmark, out of the measurement).
        if (!configuration.GetValue("Stats:SealDays", true))
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(1), clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await SealAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Sealing failed; will try again in a minute");
            }
        }
    }

    /// <summary>Seals or re-seals every closed day of every site that needs it; answers how many seals it wrote.</summary>
    public async Task<int> SealAsync(CancellationToken ct)
    {
        await using var sealLock = await AdvisoryLock.TryTakeAsync(database, LockKey, ct);
        if (sealLock is null)
        {
            return 0;
        }

        await sites.LoadAllAsync(ct);
        var written = 0;
        foreach (var site in sites.Known.ToList())
        {
            written += await SealSiteAsync(site, ct);
        }

        return written;
    }

    private async Task<int> SealSiteAsync(Site site, CancellationToken ct)
    {
        var zone = sites.ZoneOf(site);
        var now = clock.GetUtcNow();
        var current = await seals.CurrentSealsAsync(site.Id, ct);
        var facts = await seals.FactsPerDayAsync(site.Id, ct);
        var previousHash = DaySeals.Genesis;
        var written = 0;
        IReadOnlyList<StandingBaseline>? standing = null;
        foreach (var day in facts.Keys.Union(current.Keys).Order())
        {
            if (SiteCalendar.StartOf(day.AddDays(1), zone) + Grace > now)
            {
                break;
            }

            facts.TryGetValue(day, out var dayFacts);
            if (current.TryGetValue(day, out var existing) && existing.Seal.LastSequence == dayFacts.LastSequence && existing.Seal.EventCount == dayFacts.Count)
            {
                previousHash = existing.Seal.Hash;
                continue;
            }

            var start = existing.Seal?.PreviousHash ?? previousHash;
            var (hash, count) = await seals.ChainAsync(site.Id, day, start, dayFacts.LastSequence, ct);
            var figures = (await history.FiguresAsync(ViewHistory.Range.Day(site.Id, day), ct)).GetValueOrDefault(day);
            standing ??= await baselines.OfSiteAsync(site.Id, ct);
            var dayKey = new PeriodKeys(day).Key(PeriodKind.Day);
            var end = SiteCalendar.StartOf(day.AddDays(1), zone).AddTicks(-1);
            var inForce = standing.Where(b => b.IsIn(PeriodKind.Day, dayKey) && b.CountsAt(end)).Select(b => b.Baseline).ToList();
            var seal = new DaySealed(site.Id, day, count, dayFacts.LastSequence, figures.PageViews, figures.Visits, figures.Visitors,
                hash, start, existing.Seal is null ? null : existing.Sequence, SiteCalendar.ToLocal(now, zone),
                inForce.Sum(b => b.PageViews.Day), inForce.Sum(b => b.Visits.Day));
            await using var session = store.LightweightSession();
            session.Events.StartStream(Guid.CreateVersion7(), seal);
            await session.SaveChangesAsync(ct);
            previousHash = hash;
            written++;
        }

        return written;
    }
}
