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
    private static readonly Regex Pattern = new(
        LoadPattern(),
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Compiled,
        TimeSpan.FromMilliseconds(50));

    public static bool IsBot(string? userAgent)
    {
        if (string.IsNullOrWhiteSpace(userAgent))
        {
            return false;
        }

        try
        {
            return Pattern.IsMatch(userAgent);
        }
        catch (RegexMatchTimeoutException)
        {
            // A User-Agent built to make the pattern backtrack is no browser's.
            return true;
        }
    }

    private static string LoadPattern()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("CCHC.Stats.Api.Ingestion.bot-pattern.txt")
            ?? throw new InvalidOperationException("The bot pattern resource is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Trim();
    }
}
