namespace CCHC.Stats.Tests;

/// <summary>Where the repository's files are, seen from this test assembly.</summary>
internal static class Repository
{
    /// <summary>The folder holding <c>CCHC.Stats.sln</c>, above this test assembly.</summary>
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "CCHC.Stats.sln")))
        {
            root = root.Parent;
        }

        return root?.FullName ?? throw new InvalidOperationException("Repository root not found.");
    }
}
