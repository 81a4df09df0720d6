using System.Collections.Concurrent;
using System.Reflection;
using System.Text.RegularExpressions;

namespace CCHC.Stats.Api.Ingestion;

/// <summary>
/// Known crawlers, bots and headless browsers, told apart by their User-Agent. Views from them are answered
/// 202 and not counted.
/// </summary>
/// <remarks>
/// The pattern in <c>bot-pattern.txt</c> is the one the npm package <c>isbot</c> 5.2.3 publishes (its
/// <c>fullPattern</c>; public domain, The Unlicense; https://github.com/omrilotan/isbot). No NuGet package that
/// ships a maintained list is served here; to update, take the newer package's pattern and run the bot tests.
/// </remarks>
public static class Bots
{
    /// <summary>Real browsers' User-Agents are a few hundred characters; only this much is examined.</summary>
    public const int MaxExamined = 1024;

    /// <summary>
    /// Verdicts remembered per User-Agent. The pattern is a few hundred alternatives with look-arounds, so
    /// one match costs tens to hundreds of microseconds: it was most of a view's CPU until cached. A crowd
    /// uses a few thousand distinct User-Agents; past the cap the cache starts afresh.
    /// </summary>
    private const int MaxRemembered = 100_000;

    private static readonly Regex Pattern = Build();
    private static readonly ConcurrentDictionary<string, bool> Verdicts = new(StringComparer.Ordinal);

    public static bool IsBot(string? userAgent)
    {
        if (string.IsNullOrWhiteSpace(userAgent))
        {
            return false;
        }

        var examined = userAgent.Length > MaxExamined ? userAgent[..MaxExamined] : userAgent;
        if (Verdicts.TryGetValue(examined, out var known))
        {
            return known;
        }

        var verdict = Classify(Pattern, examined);
        if (Verdicts.Count >= MaxRemembered)
        {
            Verdicts.Clear();
        }

        Verdicts[examined] = verdict;
        return verdict;
    }

    /// <summary>
    /// Whether <paramref name="userAgent"/> matches the bot pattern. A match that runs out of time counts as
    /// <em>not</em> a bot: the timeout is wall-clock time, and on a starved machine (three nodes and a broker on
    /// two cores in the scale-out benchmark) ordinary browser User-Agents ran out of it, so their views were
    /// answered 202 and never counted. Counting a view that might be a bot's is the smaller error; a crafted
    /// User-Agent gains nothing a scripted browser could not, and its verdict is remembered like any other.
    /// </summary>
    internal static bool Classify(Regex pattern, string userAgent)
    {
        try
        {
            return pattern.IsMatch(userAgent);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }

    /// <remarks>
    /// The match timeout guards against a User-Agent crafted to backtrack. The pattern is exercised once
    /// here: the first match compiles it, and that took longer than the timeout (a first browser view
    /// answered as a bot) until it was warmed up.
    /// </remarks>
    private static Regex Build()
    {
        var regex = new Regex(LoadPattern(), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Compiled,
            TimeSpan.FromMilliseconds(100));
        for (var attempt = 0; attempt < 5; attempt++)
        {
            try
            {
                regex.IsMatch("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36");
                break;
            }
            catch (RegexMatchTimeoutException)
            {
            }
        }

        return regex;
    }

    private static string LoadPattern()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("CCHC.Stats.Api.Ingestion.bot-pattern.txt")
            ?? throw new InvalidOperationException("The bot pattern resource is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Trim();
    }
}
