using System.Collections.Concurrent;
using System.IO.Compression;
using System.Text.Json;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Contracts;

namespace CCHC.Stats.Api.Counters;

/// <summary>
/// The live counters of every site, held in memory as ready-made JSON so that a widget's read costs no
/// database round trip. <see cref="LiveCounterRefresher"/> replaces a site's snapshot after the projections
/// move; every node keeps its own.
/// </summary>
public sealed class LiveCounters
{
    private readonly ConcurrentDictionary<string, Snapshot> _snapshots = new();

    /// <summary>
    /// One site's figures: the response body (with its compressed forms, made once per snapshot and not once per read),
    /// its weak ETag (over the figures, not the time) and the figures.
    /// </summary>
    public sealed record Snapshot(Precompressed Body, string ETag, CountersResponse Counters)
    {
        public byte[] Json => Body.Plain;
    }

    /// <summary>
    /// Whether a rebuild of the counters runs (on any node), as the refresher last read it: reads of the stored counts
    /// (a page's figures) answer 503 meanwhile rather than half-counted figures.
    /// </summary>
    public bool Rebuilding { get; set; }

    public bool TryGet(string siteId, out Snapshot snapshot) => _snapshots.TryGetValue(siteId, out snapshot!);

    public IReadOnlyCollection<Snapshot> All => _snapshots.Values.ToArray();

    /// <summary>
    /// Shows a site's new snapshot, unless one taken at a later moment is shown already (two refreshes of a site may
    /// finish out of order: the figures never go back). Answers the snapshot shown.
    /// </summary>
    public Snapshot Publish(CountersResponse counters)
    {
        var snapshot = Render(counters);
        return _snapshots.AddOrUpdate(counters.SiteId, snapshot,
            (_, shown) => shown.Counters.AsOf > snapshot.Counters.AsOf ? shown : snapshot);
    }

    /// <summary>The body and ETag of a response; the ETag covers the figures, not the moment they were read.</summary>
    public static Snapshot Render(CountersResponse counters)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(counters, JsonBody.Options);
        return new Snapshot(new Precompressed(json, CompressionLevel.Fastest), CacheableJson.ETagOf(counters with { AsOf = default }), counters);
    }
}
