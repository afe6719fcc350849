using Dynamo.Sidecar.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddSidecar();

var app = builder.Build();
app.MapSidecar();
app.Run();

/// <summary>The sidecar's entry point, visible to the integration tests.</summary>
public partial class Program;
