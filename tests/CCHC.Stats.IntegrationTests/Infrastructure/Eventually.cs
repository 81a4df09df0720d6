using System.Diagnostics;

namespace CCHC.Stats.IntegrationTests.Infrastructure;

/// <summary>
/// Every wait of the integration tests: for an outcome the system reaches asynchronously (a projection, a refresh, a
/// recovery), for a figure to stop moving, or a load's pause after a refused request. No test sleeps a fixed time
/// for an outcome: it polls here, with a deadline that names what did not happen.
/// </summary>
public static class Eventually
{
    /// <summary>How often a condition is polled.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>How long a condition may take unless a test says otherwise.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Polls <paramref name="condition"/> until it holds; a connection refused meanwhile counts as "not yet".</summary>
    public static Task Until(Func<Task<bool>> condition, TimeSpan? timeout = null, string because = "the condition did not hold in time") =>
        Until(condition, timeout, () => because);

    /// <summary>Polls <paramref name="condition"/> until it holds; <paramref name="because"/> is asked only when it did not.</summary>
    public static async Task Until(Func<Task<bool>> condition, TimeSpan? timeout, Func<string> because)
    {
        var clock = Stopwatch.StartNew();
        var limit = timeout ?? DefaultTimeout;
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (clock.Elapsed < limit)
            {
                // A request that timed out (a process still starting): not yet.
            }

            Assert.True(clock.Elapsed < limit, because());
            await Task.Delay(PollInterval);
        }
    }

    /// <summary>Polls an in-memory <paramref name="condition"/> (a load's tally) until it holds.</summary>
    public static Task Until(Func<bool> condition, TimeSpan? timeout = null, string because = "the condition did not hold in time") =>
        Until(() => Task.FromResult(condition()), timeout, because);

    /// <summary>
    /// Returns once the real clock is at least <paramref name="margin"/> away from midnight in <paramref name="timeZone"/>:
    /// for a test whose views of the last seconds must fall on the local day of "now" (at most twice the margin of waiting,
    /// in the few minutes around the site's midnight).
    /// </summary>
    public static Task AwayFromMidnight(string timeZone, TimeSpan margin)
    {
        var zone = TimeZoneInfo.FindSystemTimeZoneById(timeZone);
        return Until(() =>
        {
            var local = TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, zone).TimeOfDay;
            return local >= margin && local <= TimeSpan.FromDays(1) - margin;
        }, margin * 2 + TimeSpan.FromSeconds(30), $"the clock should leave the minutes around midnight in {timeZone}");
    }

    /// <summary>
    /// Reads <paramref name="figure"/> until two reads a second apart agree (work still finishing, such as requests cut
    /// off mid-commit, has landed), and returns it.
    /// </summary>
    public static async Task<T> Settled<T>(Func<Task<T>> figure, TimeSpan? timeout = null, string because = "the figure kept moving")
        where T : IEquatable<T>
    {
        var last = await figure();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            var now = await figure();
            if (now.Equals(last))
            {
                return now;
            }

            Assert.True(clock.Elapsed < (timeout ?? DefaultTimeout), because);
            last = now;
        }
    }

    /// <summary>A load's pause before it sends again after a refused or failed request (a node down, a 503).</summary>
    public static Task BackOff(CancellationToken ct = default) =>
        ct.IsCancellationRequested ? Task.CompletedTask : Task.Delay(TimeSpan.FromMilliseconds(20), ct).ContinueWith(_ => { }, TaskScheduler.Default);
}
