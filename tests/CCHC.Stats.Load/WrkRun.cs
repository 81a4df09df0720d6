using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using CCHC.Stats.Contracts;

/// <summary>Reads a site's all-time page views, as a widget would.</summary>
internal static class Visible
{
    public static async Task<long> TotalAsync(HttpClient http, string site) =>
        (await http.GetFromJsonAsync<CountersResponse>($"/api/v1/sites/{site}/counters"))!.Total.PageViews;
}

/// <summary>
/// The load sent by wrk with <c>views.lua</c>, the counters watched from here every 100 ms. wrk reports the
/// 202s and their latency; the end-to-end rate is the 202s over the time until the counters show them all.
/// The visible lag during the run is estimated from the samples assuming the steady rate wrk reports.
/// </summary>
internal static partial class WrkRun
{
    public static async Task<int> RunAsync(Settings settings, HttpClient http, long before)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "views.lua");
        var clock = Stopwatch.StartNew();
        var runs = settings.Targets.Select(target => StartWrk(script, target, settings)).ToList();
        var samples = new List<(double At, long Counted)>();
        while (runs.Any(r => !r.Process.HasExited))
        {
            samples.Add((clock.Elapsed.TotalSeconds, await Visible.TotalAsync(http, settings.Site) - before));
            await Task.Delay(100);
        }

        var loadEnded = clock.Elapsed.TotalSeconds;
        var summaries = new List<Match>();
        foreach (var run in runs)
        {
            var text = await run.Output;
            var match = Summary().Match(text);
            if (!match.Success)
            {
                Console.Error.WriteLine(text + await run.Process.StandardError.ReadToEndAsync());
                return 1;
            }

            summaries.Add(match);
            run.Process.Dispose();
        }

        long Sum(string group) => summaries.Sum(m => long.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture));

        // Percentiles cannot be merged across wrk processes: the slowest node's are reported.
        string Worst(string group) => summaries.Max(m => double.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture)).ToString("F1", CultureInfo.InvariantCulture);
        var requests = Sum("requests");
        var refused = Sum("non2xx");
        var accepted = requests - refused;
        long counted;
        while ((counted = await Visible.TotalAsync(http, settings.Site) - before) < accepted && !settings.IngestOnly && clock.Elapsed.TotalSeconds < loadEnded + 120)
        {
            samples.Add((clock.Elapsed.TotalSeconds, counted));
            await Task.Delay(100);
        }

        var visibleAt = clock.Elapsed.TotalSeconds;
        var rate = accepted / loadEnded;
        var lags = samples.Where(s => s.At < loadEnded && s.At > 1).Select(s => Math.Max(0, s.At - s.Counted / rate)).Order().ToArray();
        Console.WriteLine($"""

            CCHC.Stats load (wrk) — {settings.Connections} connections over {settings.Targets.Count} node(s), {settings.Seconds} s, {settings.Visitors} visitors
              acknowledged (202):      {accepted:N0} views = {accepted / loadEnded:N0} views/s   (refused or failed: {refused + Sum("errors"):N0})
              end to end (visible):    {counted:N0} views in {visibleAt:F1} s = {counted / visibleAt:N0} views/s
              202 latency ms:          p50 {Worst("p50")}  p99 {Worst("p99")}
              visible lag s (est.):    p50 {Percentile(lags, 50):F2}  p99 {Percentile(lags, 99):F2}  (includes the counter refresh)
              drain after load:        {visibleAt - loadEnded:F1} s
            """);
        return counted >= accepted || settings.IngestOnly ? 0 : 1;
    }

    private sealed record WrkProcess(Process Process, Task<string> Output);

    /// <summary>One wrk against one node, with that node's share of the connections.</summary>
    private static WrkProcess StartWrk(string script, Uri target, Settings settings)
    {
        var connections = Math.Max(1, settings.Connections / settings.Targets.Count);
        var threads = settings.Targets.Count == 1 ? 2 : 1;
        var start = new ProcessStartInfo("wrk") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { $"-t{threads}", $"-c{connections}", $"-d{settings.Seconds}s", "--timeout", "10s", "-s", script,
                     target.ToString().TrimEnd('/'), "--", settings.Site, settings.Visitors.ToString(CultureInfo.InvariantCulture),
                     (settings.Rate / (double)(threads * settings.Targets.Count)).ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("wrk did not start (apt-get install wrk).");
        return new WrkProcess(process, process.StandardOutput.ReadToEndAsync());
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p / 100 * sorted.Length) - 1)];

    [GeneratedRegex(@"wrk: requests=(?<requests>\d+) non2xx=(?<non2xx>\d+) connect=(?<c>\d+) read=(?<r>\d+) write=(?<w>\d+) timeout=(?<errors>\d+) p50=(?<p50>[\d.]+)ms p99=(?<p99>[\d.]+)ms")]
    private static partial Regex Summary();
}
