using System.Diagnostics;

namespace CCHC.Stats.IntegrationTests.Infrastructure;

/// <summary>
/// A read as a careful client makes it: a 503 (the counters catching up, with <c>Retry-After</c>) is asked again after a
/// pause, for up to <see cref="Eventually.DefaultTimeout"/>; any other failure fails at once. For the reads that follow a
/// load or a restart on a busy machine, where the projection may take longer than the service waits for it.
/// </summary>
public static class CarefulReads
{
    public static async Task<T> GetAnsweredAsync<T>(this HttpClient client, string path)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            using var response = await client.GetAsync(path);
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || clock.Elapsed > Eventually.DefaultTimeout)
            {
                response.EnsureSuccessStatusCode();
                return (await response.Content.ReadFromJsonAsync<T>())!;
            }

            await Task.Delay(Eventually.PollInterval);
        }
    }
}
