using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace CCHC.Stats.Api.Operations;

/// <summary>Why a view was not counted: each is a label of <c>cchc_views_refused_total</c>.</summary>
public static class RefusalReason
{
    public const string Bot = "bot";
    public const string RateLimited = "rate_limited";
    public const string HostNotAllowed = "host_not_allowed";
    public const string Invalid = "invalid";
    public const string UnknownSite = "unknown_site";
    public const string TooLarge = "too_large";
    public const string Unavailable = "unavailable";
}

/// <summary>
/// The service's own instruments (meter <c>CCHC.Stats</c>), exported through OpenTelemetry to
/// <c>/metrics</c>; the refusals are also kept per site and reason for the dashboard.
/// </summary>
public sealed class StatsMetrics : IDisposable
{
    public const string MeterName = "CCHC.Stats";

    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _accepted;
    private readonly Counter<long> _refused;
    private readonly Histogram<double> _ackLatency;
    private readonly Counter<long> _counterReads;
    private readonly Histogram<double> _commitDuration;
    private readonly Histogram<int> _groupSize;
    private readonly ConcurrentDictionary<(string Site, string Reason), long> _refusedBySite = new();

    public StatsMetrics()
    {
        _accepted = _meter.CreateCounter<long>("cchc.views.accepted", "{view}", "Views made durable and answered 202.");
        _refused = _meter.CreateCounter<long>("cchc.views.refused", "{view}", "Views not counted, by site and reason.");
        _ackLatency = _meter.CreateHistogram<double>("cchc.views.ack.duration", "s", "Time from a view's arrival to its 202.");
        _counterReads = _meter.CreateCounter<long>("cchc.counters.reads", "{request}", "Counter reads, by whether memory answered them.");
        _commitDuration = _meter.CreateHistogram<double>("cchc.ingest.commit.duration", "s", "Time to commit one group of views to the event store.");
        _groupSize = _meter.CreateHistogram<int>("cchc.ingest.group.size", "{view}", "Views per append transaction.",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 10000] });
    }

    public void Accepted(string siteId, int count = 1) => _accepted.Add(count, new KeyValuePair<string, object?>("site", siteId));

    public void Refused(string siteId, string reason, int count = 1)
    {
        _refused.Add(count, new KeyValuePair<string, object?>("site", siteId), new KeyValuePair<string, object?>("reason", reason));
        _refusedBySite.AddOrUpdate((siteId, reason), count, (_, n) => n + count);
    }

    public void AckLatency(TimeSpan elapsed) => _ackLatency.Record(elapsed.TotalSeconds);

    public void Committed(int views, TimeSpan elapsed)
    {
        _groupSize.Record(views);
        _commitDuration.Record(elapsed.TotalSeconds);
    }

    public void CounterRead(bool fromMemory) => _counterReads.Add(1, new KeyValuePair<string, object?>("cache", fromMemory ? "hit" : "miss"));

    /// <summary>Refusals seen by this node since it started, by site and reason.</summary>
    public IReadOnlyDictionary<(string Site, string Reason), long> RefusedSoFar => _refusedBySite;

    public void Dispose() => _meter.Dispose();
}
