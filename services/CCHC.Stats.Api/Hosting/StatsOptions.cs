using Microsoft.Extensions.Options;

namespace CCHC.Stats.Api.Hosting;

/// <summary>The service's settings, bound from the <c>Stats</c> section (<c>Stats__AdminKey</c> and so on).</summary>
public sealed class StatsOptions
{
    public const string Section = "Stats";

    /// <summary>Key for the admin endpoints (sites, baselines, rebuild); unset turns them off.</summary>
    public string? AdminKey { get; set; }

    /// <summary>Key for the read-only audit endpoints; unset turns them off.</summary>
    public string? AuditorKey { get; set; }

    /// <summary>Key for trusted batch ingestion; unset turns it off.</summary>
    public string? IngestKey { get; set; }

    /// <summary>Public views per client IP per minute; 0 turns the limit off.</summary>
    public int ViewsPerClientPerMinute { get; set; } = 600;

    /// <summary><c>local</c> (durable queues in PostgreSQL) or <c>rabbitmq</c>.</summary>
    public string Transport { get; set; } = "local";

    /// <summary>
    /// How often each node reloads the live counters it serves from memory: one statement per tick, and up to this
    /// much added to the time a view takes to show. A site whose counters moved has its snapshot (counters and online
    /// together) re-taken at most twice per interval (<see cref="Counters.LiveCounterRefresher"/>).
    /// </summary>
    public TimeSpan CounterRefreshInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// How old a site's snapshot may grow while its counters do not move: visitors leave the online window as time
    /// passes, so it is re-taken (counted online again) this often. A site whose counters moved is re-taken at once,
    /// its online count with it. The count reads every visitor in the site's window (13–18 ms with 20,000 online).
    /// </summary>
    public TimeSpan OnlineRefreshInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The most views one append transaction takes. Larger batches stopped paying off at about half the
    /// open connections in the prototype (see STACK-NOTES); the batcher never waits to fill one.
    /// </summary>
    public int MaxViewsPerTransaction { get; set; } = 500;

    /// <summary>
    /// The largest <see cref="MaxViewsPerTransaction"/>: a group is one transaction and one message on the bus, held in
    /// memory until it commits, and its senders all wait for it. An import's batch (<see cref="Ingestion.ImportViews.MaxItems"/>)
    /// is as large as the service takes at once elsewhere.
    /// </summary>
    public const int MaxGroupSize = 10_000;

    /// <summary>
    /// How many groups may be committing at once. One committer spent its whole time waiting on round trips
    /// and the WAL flush (about 23 ms per group of 110 views here); overlapping them lifts the ceiling. Since a
    /// group is one call of Marten's append function, 2 beat 4 on two cores: 9.8–10.0k against 9.0–9.4k views/s
    /// at full load, half-load p99 76 against 77–95 ms, in runs side by side (docs/BENCHMARKS.md).
    /// </summary>
    public int ConcurrentCommits { get; set; } = 2;

    /// <summary>
    /// How long a committer lets views gather before it commits them (0: whatever is queued, at once). At half load
    /// 2 ms made groups of ~20 views instead of ~7 and cut PostgreSQL's CPU by a third, for ~1 ms more at p50; at full
    /// load groups are large anyway.
    /// </summary>
    public TimeSpan CommitLinger { get; set; } = TimeSpan.FromMilliseconds(2);

    /// <summary>
    /// Visitor-days the projection keeps in memory on the node that runs it (about 450 bytes each), so that a page of
    /// views needs no lookup of its visitors (<see cref="Counters.VisitorDayCache"/>); 0 turns the cache off.
    /// </summary>
    public int VisitorDayCache { get; set; } = 100_000;

    /// <summary>
    /// Events a rebuild reads, applies and writes at once (<see cref="Counters.CounterReplay"/>): fewer round trips the larger,
    /// and two pages in flight each way stay a few MB at the default. A site-day not met in ten pages is put away from memory.
    /// </summary>
    public int RebuildPageSize { get; set; } = 4000;

    /// <summary>The largest <see cref="RebuildPageSize"/>: a page's events and writes are held in memory, two in flight each way.</summary>
    public const int MaxRebuildPageSize = 50_000;

    /// <summary>How often each node adds the views it accepted and refused to the dashboard's table (<see cref="Operations.TrafficLog"/>).</summary>
    public TimeSpan TrafficFlushInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a public view may wait to be made durable before the caller gets a 503; a commit still running then is cancelled (<see cref="Ingestion.ViewBatcher"/>).</summary>
    public TimeSpan DurableWriteTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Create a demo site at start (the run command sets it).</summary>
    public bool SeedDemoSite { get; set; }
}

/// <summary>
/// A setting that cannot work stops the start with a message naming it, as <c>Stats__Transport</c> does: a negative
/// <c>Stats__DurableWriteTimeout</c> would otherwise fail every view, and a zero refresh interval spin a core.
/// </summary>
public sealed class StatsOptionsValidation : IValidateOptions<StatsOptions>
{
    /// <summary>The defaults, which each message gives as its example of a value that works.</summary>
    private static readonly StatsOptions Defaults = new();

    public ValidateOptionsResult Validate(string? name, StatsOptions options)
    {
        List<string> problems = [];
        Positive(nameof(StatsOptions.DurableWriteTimeout), options.DurableWriteTimeout, Defaults.DurableWriteTimeout);
        Positive(nameof(StatsOptions.CounterRefreshInterval), options.CounterRefreshInterval, Defaults.CounterRefreshInterval);
        Positive(nameof(StatsOptions.OnlineRefreshInterval), options.OnlineRefreshInterval, Defaults.OnlineRefreshInterval);
        Positive(nameof(StatsOptions.TrafficFlushInterval), options.TrafficFlushInterval, Defaults.TrafficFlushInterval);
        if (options.CommitLinger < TimeSpan.Zero)
        {
            problems.Add($"{Setting(nameof(StatsOptions.CommitLinger))} must be zero or a positive time span such as {Example(Defaults.CommitLinger)}, not {options.CommitLinger}.");
        }

        Between(nameof(StatsOptions.MaxViewsPerTransaction), options.MaxViewsPerTransaction, 1, StatsOptions.MaxGroupSize);
        AtLeast(nameof(StatsOptions.ConcurrentCommits), options.ConcurrentCommits, 1);
        AtLeast(nameof(StatsOptions.VisitorDayCache), options.VisitorDayCache, 0);
        Between(nameof(StatsOptions.RebuildPageSize), options.RebuildPageSize, 1, StatsOptions.MaxRebuildPageSize);
        AtLeast(nameof(StatsOptions.ViewsPerClientPerMinute), options.ViewsPerClientPerMinute, 0);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);

        void Positive(string setting, TimeSpan value, TimeSpan example)
        {
            if (value <= TimeSpan.Zero)
            {
                problems.Add($"{Setting(setting)} must be a positive time span such as {Example(example)}, not {value}.");
            }
        }

        void AtLeast(string setting, int value, int least)
        {
            if (value < least)
            {
                problems.Add($"{Setting(setting)} must be a whole number of at least {least}, not {value}.");
            }
        }

        void Between(string setting, int value, int least, int most)
        {
            if (value < least || value > most)
            {
                problems.Add($"{Setting(setting)} must be a whole number from {least} to {most}, not {value}.");
            }
        }
    }

    /// <summary>A time span as a setting would be written: <c>00:00:10</c>, <c>00:00:00.5</c> (no trailing zeros).</summary>
    private static string Example(TimeSpan value)
    {
        var text = value.ToString("c", System.Globalization.CultureInfo.InvariantCulture);
        return text.Contains('.') ? text.TrimEnd('0') : text;
    }

    private static string Setting(string property) => $"{StatsOptions.Section}__{property}";
}
