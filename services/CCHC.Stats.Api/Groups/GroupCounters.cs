using System.Collections.Concurrent;
using System.IO.Compression;
using System.Text.Json;
using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Sites;
using CCHC.Stats.Contracts;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CCHC.Stats.Api.Groups;

/// <summary>
/// A group's counters, the site counters' rules over its members. A group stores no counts of its own; its figures are
/// read from what the engine stored for its members, so verify and rebuild of the members cover it:
/// <list type="bullet">
/// <item>page views and visits of each period: the members' stored counts, summed (baselines included);</item>
/// <item>visitors of the day and online: distinct people over the members' visitor-days (<see cref="VisitorDayStore"/>): a
/// public view's pseudonym is the same on every site that day, so a person read on two members is one;</item>
/// <item>the members are those of the membership in force at the moment (<see cref="Group.MembersAt"/>): a change counts
/// from its moment on, and <c>asOf</c> before it shows the group as it was.</item>
/// </list>
/// Live figures are held in memory, taken again every <see cref="StatsOptions.OnlineRefreshInterval"/> on every node (one
/// batch of three statements a group: counting a day's distinct people costs more than a site's stored counts, so not at
/// the counters' faster pace); <c>asOf</c> figures are computed on request by <see cref="AsOfAsync"/>.
/// </summary>
public sealed class GroupCounters(
    GroupDirectory groups,
    SiteDirectory sites,
    CountStore counts,
    VisitorDayStore people,
    CountersAsOf sitesAsOf,
    LiveCounters live,
    NpgsqlDataSource database,
    TimeProvider clock,
    IOptions<StatsOptions> options,
    ILogger<GroupCounters> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, Snapshot> _snapshots = new();

    /// <summary>A group's figures as a ready response body (and its compressed forms), with a weak ETag over the figures.</summary>
    public sealed record Snapshot(Precompressed Body, string ETag, GroupCountersResponse Counters);

    public bool TryGet(string groupId, out Snapshot snapshot) => _snapshots.TryGetValue(groupId, out snapshot!);

    public IReadOnlyCollection<Snapshot> All => _snapshots.Values.ToArray();

    /// <summary>Takes a group's live figures now and shows them; null while the counters are being rebuilt.</summary>
    public async Task<Snapshot?> RefreshAsync(Group group, CancellationToken ct)
    {
        if (live.Rebuilding)
        {
            // The rebuild drops the index that finds who is online (VisitorDayStore.OnlineIndexSql): not counted meanwhile.
            return _snapshots.GetValueOrDefault(group.Id);
        }

        var now = clock.GetUtcNow();
        var members = group.MembersAt(now);
        var zone = group.Zone();
        var day = SiteCalendar.LocalDay(now, zone);
        var keys = members.Select(m => CounterBook.PeriodKeysOf(m, day)).ToList();

        long visitors, online;
        Dictionary<CountKey, Counts> stored;
        await using (var batch = database.CreateBatch())
        {
            // The counts first: the people counted after them have seen at least the views the counts hold.
            batch.BatchCommands.Add(counts.ReadCommand(keys.SelectMany(k => k).ToList()));
            batch.BatchCommands.Add(people.PeopleOfDayCommand(members, day, upTo: null));
            batch.BatchCommands.Add(people.OnlineCommand(members, OnlineWindow.Before(now, group.OnlineWindowMinutes)));
            await using var reader = await batch.ExecuteReaderAsync(ct);
            stored = await CountStore.ReadAsync(reader, ct);
            await reader.NextResultAsync(ct);
            visitors = await ScalarAsync(reader, ct);
            await reader.NextResultAsync(ct);
            online = await ScalarAsync(reader, ct);
        }

        if (live.Rebuilding)
        {
            return _snapshots.GetValueOrDefault(group.Id);
        }

        var figures = new PeriodFigures[PeriodKeys.AllKinds.Length];
        for (var i = 0; i < figures.Length; i++)
        {
            var sum = keys.Aggregate(new Counts(), (total, memberKeys) => total + stored.GetValueOrDefault(memberKeys[i]));
            var kind = PeriodKeys.AllKinds[i];
            figures[i] = new PeriodFigures(new PeriodKeys(day).Key(kind), sum.ShownPageViews, sum.ShownVisits, kind == PeriodKind.Day ? visitors : null);
        }

        var response = new GroupCountersResponse(group.Id, group.TimeZone, SiteCalendar.ToLocal(now, zone), online,
            figures[0], figures[1], figures[2], figures[3], figures[4], members);
        var snapshot = Render(response);
        return _snapshots.AddOrUpdate(group.Id, snapshot, (_, shown) => shown.Counters.AsOf > response.AsOf ? shown : snapshot);
    }

    /// <summary>
    /// A group's figures exactly as they stood at <paramref name="asOf"/>: each member's as <see cref="CountersAsOf"/> computes
    /// them, summed, over the members of that moment; the day's distinct people from the members' visitor-days whose first
    /// view is at or before it, and who was online from the raw views in the window. Null while the projection is behind
    /// or a rebuild runs.
    /// </summary>
    public async Task<GroupCountersResponse?> AsOfAsync(Group group, DateTimeOffset asOf, CancellationToken ct)
    {
        var members = group.MembersAt(asOf);
        var zone = group.Zone();
        var day = SiteCalendar.LocalDay(asOf, zone);
        var periods = new PeriodKeys(day);
        var sums = PeriodKeys.AllKinds.Select(_ => (PageViews: 0L, Visits: 0L)).ToArray();
        var window = OnlineWindow.Before(asOf, group.OnlineWindowMinutes);
        var online = new HashSet<(DateOnly, string)>();
        foreach (var member in members)
        {
            var site = await sites.FindAsync(member, ct);
            if (site is null)
            {
                continue;
            }

            // The member's figures, and who was online in the group's window, from one read.
            var ofSite = await sitesAsOf.ComputeAsync(site, zone, asOf, window, ct);
            if (ofSite is null)
            {
                return null;
            }

            var figures = ofSite.Counters;
            online.UnionWith(ofSite.Online);
            PeriodFigures[] ofMember = [figures.Day, figures.Week, figures.Month, figures.Year, figures.Total];
            for (var i = 0; i < sums.Length; i++)
            {
                sums[i] = (checked(sums[i].PageViews + ofMember[i].PageViews), checked(sums[i].Visits + ofMember[i].Visits));
            }
        }

        long visitors;
        await using (var batch = database.CreateBatch())
        {
            batch.BatchCommands.Add(people.PeopleOfDayCommand(members, day, asOf));
            await using var reader = await batch.ExecuteReaderAsync(ct);
            visitors = await ScalarAsync(reader, ct);
        }

        PeriodFigures Figures(int i) => new(periods.Key(PeriodKeys.AllKinds[i]), sums[i].PageViews, sums[i].Visits, i == 0 ? visitors : null);
        return new GroupCountersResponse(group.Id, group.TimeZone, SiteCalendar.ToLocal(asOf, zone), online.Count,
            Figures(0), Figures(1), Figures(2), Figures(3), Figures(4), members);
    }

    /// <summary>The body and ETag of a response; the ETag covers the figures, not the moment they were read.</summary>
    public static Snapshot Render(GroupCountersResponse counters) =>
        new(new Precompressed(JsonSerializer.SerializeToUtf8Bytes(counters, JsonBody.Options), CompressionLevel.Fastest),
            CacheableJson.ETagOf(counters with { AsOf = default }), counters);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.OnlineRefreshInterval, clock);
        do
        {
            try
            {
                foreach (var group in await groups.LoadAllAsync(stoppingToken))
                {
                    await RefreshAsync(group, stoppingToken);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Could not refresh the groups' counters; serving the last ones");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private static async Task<long> ScalarAsync(NpgsqlDataReader reader, CancellationToken ct)
    {
        await reader.ReadAsync(ct);
        return reader.GetInt64(0);
    }
}
