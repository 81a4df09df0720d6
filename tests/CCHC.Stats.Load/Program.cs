using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using CCHC.Stats.Contracts;

// Load generator for public ingestion: sends views as a crowd of browsers would (many connections, many
// visitors), then waits until the live counters show every acknowledged view. Reports acknowledged views/s,
// end-to-end views/s (first send → all visible in the counters), 202 latency and the visible lag.
// Bounded in time and count; it targets loopback only.
//
//   dotnet run -c Release --project tests/CCHC.Stats.Load -- --target http://127.0.0.1:5080 --admin-key KEY \
//       [--seconds 20] [--connections 256] [--rate 0] [--visitors 20000] [--max-views 2000000] [--ingest-only]
// --ingest-only: do not wait for the counters (for a service run with Stats__RunProjections=false); with --wrk the
//                figures that need the counters (end to end, lag) are then not meaningful.
// --rate: views/s in all, sent on a schedule (each connection in turn, spread evenly), not as fast as answers come.
// --wrk: send the load with wrk (apt-get install wrk; lighter than this process's own client) and only
//        watch the counters from here; with --rate, views.lua paces wrk the same way. With several nodes
//        (--target URL1,URL2,...), one wrk per node shares the connections; the counters are watched on the first.
// LOAD_DUMP=file (without --wrk): writes every 202 as "time,latency ms", to line slow answers up with the logs.
var settings = Settings.Parse(args);
if (settings.Targets.Any(t => !t.IsLoopback))
{
    Console.Error.WriteLine("The load tool only targets loopback addresses.");
    return 2;
}

using var http = new HttpClient(new SocketsHttpHandler
{
    MaxConnectionsPerServer = settings.Connections,
    PooledConnectionLifetime = TimeSpan.FromMinutes(10),
})
{ BaseAddress = settings.Target, Timeout = TimeSpan.FromSeconds(30) };

var site = settings.Site;
using (var admin = new HttpRequestMessage(HttpMethod.Put, $"/api/v1/sites/{site}"))
{
    admin.Headers.Authorization = new AuthenticationHeaderValue("Bearer", settings.AdminKey);
    admin.Content = JsonContent.Create(new SiteRequest("Load test", null, ["load.test"], 5));
    (await http.SendAsync(admin)).EnsureSuccessStatusCode();
}

var before = await TotalAsync(http, site);
if (settings.Wrk)
{
    return await WrkRun.RunAsync(settings, http, before);
}

var clock = Stopwatch.StartNew();
var deadline = TimeSpan.FromSeconds(settings.Seconds);
var sent = 0L;
var acceptedTimes = new List<double>[settings.Connections];
var latencies = new List<double>[settings.Connections];
var failures = new Dictionary<string, int>();
var pacer = settings.Rate > 0 ? TimeSpan.FromSeconds(settings.Connections / (double)settings.Rate) : TimeSpan.Zero;

var workers = Enumerable.Range(0, settings.Connections).Select(async worker =>
{
    var accepted = acceptedTimes[worker] = new List<double>(1 << 16);
    var latency = latencies[worker] = new List<double>(1 << 16);
    var random = new Random(worker);
    // Connections start spread over one pacing interval: in step, they would all send at once every interval.
    var next = clock.Elapsed + pacer * worker / settings.Connections;
    while (clock.Elapsed < deadline)
    {
        var n = Interlocked.Increment(ref sent);
        if (n > settings.MaxViews)
        {
            break;
        }

        if (pacer > TimeSpan.Zero)
        {
            next += pacer;
            var wait = next - clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/sites/{site}/views")
        {
            Content = new StringContent($$"""{"url":"https://load.test/page/{{n % 5000}}","referrer":"https://www.google.com/"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("User-Agent",
            $"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.{random.Next(settings.Visitors)}.0 Safari/537.36");
        var started = clock.Elapsed.TotalMilliseconds;
        try
        {
            using var response = await http.SendAsync(request);
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                var done = clock.Elapsed.TotalMilliseconds;
                accepted.Add(done);
                latency.Add(done - started);
            }
            else
            {
                Count(((int)response.StatusCode).ToString());
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            Count(e.GetType().Name);
        }
    }
}).ToList();

void Count(string reason)
{
    lock (failures)
    {
        failures[reason] = failures.GetValueOrDefault(reason) + 1;
    }
}

// Sample the live counters while loading and until they show every acknowledged view.
var samples = new List<(double At, long Counted)>();
var allSent = Task.WhenAll(workers);
while (true)
{
    var counted = await TotalAsync(http, site) - before;
    samples.Add((clock.Elapsed.TotalMilliseconds, counted));
    var acknowledged = acceptedTimes.Sum(a => a?.Count ?? 0);
    if (allSent.IsCompleted && (counted >= acknowledged || settings.IngestOnly))
    {
        break;
    }

    if (clock.Elapsed > deadline + TimeSpan.FromSeconds(120))
    {
        Console.Error.WriteLine($"Gave up waiting: {counted} of {acknowledged} views visible.");
        break;
    }

    await Task.Delay(100);
}

await allSent;
var acceptTimeline = acceptedTimes.SelectMany(a => a).Order().ToArray();
var allLatencies = latencies.SelectMany(l => l).Order().ToArray();
if (Environment.GetEnvironmentVariable("LOAD_DUMP") is { } dump)
{
    var epoch = DateTimeOffset.UtcNow - clock.Elapsed;
    File.WriteAllLines(dump, Enumerable.Range(0, settings.Connections).SelectMany(w => acceptedTimes[w].Zip(latencies[w]))
        .Select(p => $"{epoch.AddMilliseconds(p.First):HH:mm:ss.fff},{p.Second:F1}").Order());
}
var total = acceptTimeline.Length;
var lastAck = total > 0 ? acceptTimeline[^1] : 0;
var visibleAt = samples.FirstOrDefault(s => s.Counted >= total).At;

// Lag of a sample: how long ago the newest view it shows was acknowledged... taken as: the time since the
// (counted+1)-th view was acknowledged, i.e. how old the oldest view not yet visible is.
var lags = samples.Where(s => s.Counted < total && s.Counted < acceptTimeline.Length)
    .Select(s => s.At - acceptTimeline[s.Counted]).Where(l => l > 0).Order().ToArray();

Console.WriteLine($"""

    CCHC.Stats load — {settings.Connections} connections, {settings.Seconds} s, target rate {(settings.Rate > 0 ? settings.Rate + "/s" : "max")}, {settings.Visitors} visitors
      acknowledged (202):      {total:N0} views in {lastAck / 1000:F1} s = {total / (lastAck / 1000):N0} views/s
      end to end (visible):    {total:N0} views in {visibleAt / 1000:F1} s = {total / (visibleAt / 1000):N0} views/s
      202 latency ms:          p50 {Percentile(allLatencies, 50):F1}  p90 {Percentile(allLatencies, 90):F1}  p99 {Percentile(allLatencies, 99):F1}  max {(allLatencies.Length > 0 ? allLatencies[^1] : 0):F1}
      visible lag ms:          p50 {Percentile(lags, 50):F0}  p99 {Percentile(lags, 99):F0}  max {(lags.Length > 0 ? lags[^1] : 0):F0}  (includes the counter refresh)
      drain after last 202:    {(visibleAt - lastAck) / 1000:F1} s
      not accepted:            {(failures.Count == 0 ? "none" : string.Join(", ", failures.Select(f => $"{f.Key}: {f.Value}")))}
    """);
return 0;

static double Percentile(double[] sorted, double p) =>
    sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p / 100 * sorted.Length) - 1)];

static Task<long> TotalAsync(HttpClient http, string site) => Visible.TotalAsync(http, site);

internal sealed record Settings(IReadOnlyList<Uri> Targets, string Site, string AdminKey, int Seconds, int Connections, int Rate, int Visitors, long MaxViews, bool IngestOnly, bool Wrk)
{
    /// <summary>The node the site is registered on and the counters are watched on (and, without wrk, loaded).</summary>
    public Uri Target => Targets[0];

    public static Settings Parse(string[] args)
    {
        string Get(string name, string fallback)
        {
            var i = Array.IndexOf(args, $"--{name}");
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }

        return new Settings(
            Get("target", "http://127.0.0.1:5080").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(t => new Uri(t)).ToArray(),
            Get("site", $"load-{DateTime.UtcNow:HHmmss}"),
            Get("admin-key", Environment.GetEnvironmentVariable("Stats__AdminKey") ?? ""),
            Math.Clamp(int.Parse(Get("seconds", "20")), 1, 600),
            Math.Clamp(int.Parse(Get("connections", "256")), 1, 2048),
            int.Parse(Get("rate", "0")),
            int.Parse(Get("visitors", "20000")),
            long.Parse(Get("max-views", "5000000")),
            args.Contains("--ingest-only"),
            args.Contains("--wrk"));
    }
}
