using System.Diagnostics;
using System.IO.Compression;

namespace CCHC.Stats.Tests;

/// <summary><c>dotnet pack</c> makes the contracts a NuGet package with its XML docs, its README and the product's version.</summary>
public sealed class ContractsPackageTests
{
    [Fact]
    public async Task dotnet_pack_makes_the_contracts_package_with_docs_and_readme()
    {
        var output = Directory.CreateTempSubdirectory("cchc-pack-");
        try
        {
            var pack = new ProcessStartInfo("dotnet", ["pack", "contracts/CCHC.Stats.Contracts", "-o", output.FullName, "-nologo", "-v", "quiet"])
            {
                WorkingDirectory = Repository.Root,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var process = Process.Start(pack)!;
            var log = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            Assert.True(process.ExitCode == 0, log);

            var version = System.Xml.Linq.XDocument.Load(Path.Combine(Repository.Root, "Directory.Build.props")).Descendants("Version").Single().Value;
            var package = Path.Combine(output.FullName, $"CCHC.Stats.Contracts.{version}.nupkg");
            using var zip = ZipFile.OpenRead(package);
            var entries = zip.Entries.Select(e => e.FullName).ToList();
            Assert.Contains("lib/net10.0/CCHC.Stats.Contracts.dll", entries);
            Assert.Contains("lib/net10.0/CCHC.Stats.Contracts.xml", entries);
            Assert.Contains("README.md", entries);
            using var nuspec = new StreamReader(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec")).Open());
            var manifest = await nuspec.ReadToEndAsync();
            Assert.DoesNotContain("<dependency ", manifest);
            Assert.Contains("<readme>README.md</readme>", manifest);
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }
}
