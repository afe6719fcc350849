namespace Dynamo.Sidecar.SimulatedWorker;

/// <summary>The one model the worker advertises. Completions echo whatever model name the client sent.</summary>
internal static class SimulatedModel
{
    public const string Id = "simulated-model";

    public const int MaxModelLength = 4096;
}
