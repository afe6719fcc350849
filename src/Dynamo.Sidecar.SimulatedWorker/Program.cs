using Dynamo.Sidecar.SimulatedWorker;

SimulatedWorkerApp.Create(args).Run();
