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

    private readonly Meter _meter;
    private readonly Counter<long> _accepted;
    private readonly Counter<long> _refused;
    private readonly Histogram<double> _ackLatency;
    private readonly Counter<long> _counterReads;
    private readonly Histogram<double> _commitDuration;
    private readonly Histogram<int> _groupSize;
    private readonly TrafficLog _traffic;

    /// <summary>
    /// Buckets for durations in seconds, 1 ms to 10 s. Without them OpenTelemetry's defaults (0, 5, 10, 25 … 10,000, made
    /// for milliseconds) put every request below 5 s in one bucket, and a p99 read from them is about 5 s, whatever the
    /// traffic (the alert rules' tests: deploy/prometheus/alerts.test.yml).
    /// </summary>
    public static readonly InstrumentAdvice<double> Seconds = new()
    {
        HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    };

    /// <summary>The meter comes from the host's factory, so two hosts in one process keep their instruments apart.</summary>
    public StatsMetrics(IMeterFactory meters, TrafficLog traffic)
    {
        _traffic = traffic;
        _meter = meters.Create(MeterName);
        _accepted = _meter.CreateCounter<long>("cchc.views.accepted", "{view}", "Views made durable and answered 202.");
        _refused = _meter.CreateCounter<long>("cchc.views.refused", "{view}", "Views not counted, by site and reason.");
        _ackLatency = _meter.CreateHistogram<double>("cchc.views.ack.duration", "s", "Time from a view's arrival to its 202.", advice: Seconds);
        _counterReads = _meter.CreateCounter<long>("cchc.counters.reads", "{request}", "Counter reads, by whether memory answered them.");
        _commitDuration = _meter.CreateHistogram<double>("cchc.ingest.commit.duration", "s", "Time to commit one group of views to the event store.",
            advice: Seconds);
        _groupSize = _meter.CreateHistogram<int>("cchc.ingest.group.size", "{view}", "Views per append transaction.",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 10000] });
    }

    public void Accepted(string siteId, int count = 1)
    {
        _accepted.Add(count, new KeyValuePair<string, object?>("site", siteId));
        _traffic.Add(siteId, TrafficLog.Accepted, count);
    }

    /// <summary>Watches the pipeline: projection lag, backlog and dead letters become gauges.</summary>
    public void Observe(Func<PipelineState> state)
    {
        _meter.CreateObservableGauge("cchc.projection.lag.events", () => state().LagEvents, "{event}", "Committed events the counter projection has not applied yet.");
        _meter.CreateObservableGauge("cchc.projection.lag", () => state().LagSeconds, "s", "Age of the oldest event the counter projection has not applied yet.");
        _meter.CreateObservableGauge("cchc.ingest.backlog", () => state().Backlog, "{view}", "Views waiting for their group commit.");
        _meter.CreateObservableGauge("cchc.projection.active", () => state().RunsProjections ? 1 : 0, "{node}",
            "1 on the node that runs the counter projection (exactly one node at a time), 0 on the others.");
        _meter.CreateObservableGauge("cchc.deadletters", () => state().DeadLetters, "{message}", "Messages in Wolverine's dead letters.");
    }

    public void Refused(string siteId, string reason, int count = 1)
    {
        _refused.Add(count, new KeyValuePair<string, object?>("site", siteId), new KeyValuePair<string, object?>("reason", reason));
        _traffic.Add(siteId, reason, count);
    }

    public void AckLatency(TimeSpan elapsed) => _ackLatency.Record(elapsed.TotalSeconds);

    public void Committed(int views, TimeSpan elapsed)
    {
        _groupSize.Record(views);
        _commitDuration.Record(elapsed.TotalSeconds);
    }

    public void CounterRead(bool fromMemory) => _counterReads.Add(1, new KeyValuePair<string, object?>("cache", fromMemory ? "hit" : "miss"));

    public void Dispose() => _meter.Dispose();
}
