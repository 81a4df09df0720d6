namespace CCHC.Stats.IntegrationTests.Infrastructure;

/// <summary>Waits for an outcome that the system reaches asynchronously (a projection, a refresh, a recovery).</summary>
public static class Eventually
{
    /// <summary>Polls <paramref name="condition"/> until it holds; a connection refused meanwhile counts as "not yet".</summary>
    public static async Task Until(Func<Task<bool>> condition, TimeSpan? timeout = null, string because = "the condition did not hold in time")
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
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

            Assert.True(DateTime.UtcNow < deadline, because);
            await Task.Delay(200);
        }
    }
}
